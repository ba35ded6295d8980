"""Evaluation: the tasks (real MS MARCO subsets), pure IR metrics, and the runner."""
