"""A Salesforce org on loopback that the real simple-salesforce client talks to unmodified."""
