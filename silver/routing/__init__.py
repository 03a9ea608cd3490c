"""Fallback classification for routing: what a territory rule needs and a person's records lack
(industry), inferred from free text behind one small interface (`Classifier.predict`)."""
