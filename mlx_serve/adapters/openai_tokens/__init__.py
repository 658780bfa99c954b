"""OpenAI's token ids (tiktoken's ``cl100k_base``), decoded offline from a shipped rank file."""
