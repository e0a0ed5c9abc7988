import Conveyor
import SquaresDataset

// The loader's worker processes run this program: first thing, become a worker.
WorkerProcess.bootstrap(datasets: Squares.self)
print("squares-workers hosts the Squares dataset for Conveyor loaders; it is not meant to be run by hand")
