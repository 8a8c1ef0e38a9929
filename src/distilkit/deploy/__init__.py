"""Deployment: ONNX export steps, int8 quantisation, speed measurement (FLOPs, peaks, profiles), the HTTP server and its load generator."""
