"""µTask core: engine, templating, storage, encryption, audit and the plugin host with its sandbox."""
