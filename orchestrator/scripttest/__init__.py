"""scripttest"""
