"""Pure processing functions of newsdesk's stages. Nothing here imports Celery or Redis."""
