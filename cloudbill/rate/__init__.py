"""Usage x price -> fee: hour pieces, tiers, discounts, at Huawei's precision."""
