"""Server-rendered pages, one module per area. Views are thin: they call ``sokhan.core.services``."""
