"""Networks (plain nn.Modules): generators, discriminators and perceptual feature extractors."""
