"""Pure core: features, metrics, gate, drift, validation rules, reports. No file, network or CLI code."""
