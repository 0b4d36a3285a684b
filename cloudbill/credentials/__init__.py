"""Customer access keys (AK/SK): issued here, checked by the BSS listener's signature verifier."""
