"""Developer tools: the generated doc tables and make demo."""
