print("write-node")
