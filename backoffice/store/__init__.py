"""What the back office keeps: its database, the scrambled samples, work folders, findings."""
