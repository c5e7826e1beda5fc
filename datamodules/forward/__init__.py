"""Forward models: the physics of each acquisition that turns synthetic ground truth into measured images."""
