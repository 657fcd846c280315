"""Latency prediction from calibration tables: `calib calibrate` measures op costs on this device,
`calib predict` sums them over a model's graph without running the model.

  calibrate.calibrate(...)  -> a table file (calib.predict.table): isolated op sweeps (calib.predict.sweep)
                               and real models' per-layer tables, one versioned results file
  graph_walk.walk(...)      -> the model's graph as the backend runs it, one row per node (shapes, FLOPs, bytes)
  cost_model.fit(...)       -> per-kind regressions with nearest-shape corrections and a whole-model factor
  predictor.predict(...)    -> predicted_ms with its interval and the per-node breakdown

The cost model is described in calib.predict.cost_model.
"""
