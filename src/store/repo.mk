# Repository layer (config, locations, keys, catalog): appended to libkahu_store.a.
