"""The BSS operations cloudbill answers, grouped as in docs/bss-api-map.md."""
