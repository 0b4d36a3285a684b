"""Resource packages and cash coupons: granting, issuing, listing, expiry."""
