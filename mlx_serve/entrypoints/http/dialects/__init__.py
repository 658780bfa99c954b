"""Request/response dialects of reranking: each maps its own JSON shapes (pydantic models) to
one RerankCall and a RerankResult back to its own response; none has its own path through
the services (see architecture/decisions, "dialects")."""
