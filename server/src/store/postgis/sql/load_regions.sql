SELECT geom, code, name, parent FROM regions ORDER BY code COLLATE "C"
