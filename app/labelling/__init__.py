"""HJ 1276 e-labels in the app: digital ID allocation, label/QR/barcode/sign rendering."""
