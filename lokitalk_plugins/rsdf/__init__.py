"""Region-Specific Deformation Fields (LokiTalk section 3.2)."""
