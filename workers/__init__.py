"""newsdesk workers: the Celery app, thin stage tasks, and the pure pipeline in ``workers.pipeline``."""
