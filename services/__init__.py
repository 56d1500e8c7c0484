"""newsdesk intake API: validates, stores and queues documents, and answers status reads."""
