"""Reading: what each reader cares about, learned from what they saved, rated and
imported, and the ranking, reasons, cross-domain picks and rising phrases it drives."""
