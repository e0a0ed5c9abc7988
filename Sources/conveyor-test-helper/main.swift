import Conveyor
print("helper")
