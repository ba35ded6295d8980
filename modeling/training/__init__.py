"""Training: arguments and the recipe, collator, losses, in-batch metrics, the Trainer."""
