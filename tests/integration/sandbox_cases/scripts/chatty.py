for index in range(20_000):
    print(f"progress {index:06d} " + "." * 60)
print("the last line")
