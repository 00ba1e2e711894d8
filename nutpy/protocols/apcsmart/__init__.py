"""APC Smart (UPS-Link), the text protocol of serial Smart-UPS units."""
