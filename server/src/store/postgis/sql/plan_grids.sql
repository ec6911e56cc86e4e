SELECT level, grid, code FROM plan_grids WHERE version = $1 ORDER BY level, grid
