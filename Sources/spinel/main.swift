print("spinel")
