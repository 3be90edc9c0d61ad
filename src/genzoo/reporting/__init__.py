"""Pages made from runs and shipped models: genzoo-compare, genzoo-report, the headless browser."""
