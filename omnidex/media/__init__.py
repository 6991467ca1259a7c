"""Media (a service): images opened safely, OCR, audio decoding, clips, and where derived
files (thumbnails, keyframes, pictures) live. Imports the floor, and the speech recognizer's
protocol (``omnidex.encoders.asr``) to transcribe a decoded file.
"""
