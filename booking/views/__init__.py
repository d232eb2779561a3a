"""Moviegoer pages (`public`) and the staff pages of the box office (`box_office`)."""
