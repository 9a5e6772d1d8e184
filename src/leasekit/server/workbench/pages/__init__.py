"""The workbench's pages, one module per page or group of pages, each with its ``routes``."""
