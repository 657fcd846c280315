"""`calib report`: stored results as a self-contained HTML page (charts inline) or markdown."""
