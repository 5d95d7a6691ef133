"""ID-Aware Knowledge Transfer (LokiTalk section 3.3) and Hub loading."""
