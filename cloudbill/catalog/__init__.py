"""Services, resource types, specs, usage types, units, prices and discounts, as versioned data."""
