# devices/pic.mk — filled in by its area
