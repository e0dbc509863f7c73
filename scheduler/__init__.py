"""The scheduler process: expiry, deadline watch and publication jobs, the publication
client, exports, and a credit-platform simulator for tests and demos."""
