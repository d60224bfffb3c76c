"""What every stage may use: typed errors, escaping, bounded reads of foreign files, packaged resources."""
