import os

folder = "/opt/ml/processing/input/data"
print("consumer sees", sorted(os.listdir(folder)))
