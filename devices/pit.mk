# devices/pit.mk — filled in by its area
