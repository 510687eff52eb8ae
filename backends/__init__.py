"""Backends that execute or serialize graphs; installed as ``graphdl.backends``."""
