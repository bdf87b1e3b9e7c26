-- SQLite runs the in-process event bus: nothing to store. (Postgres creates the bus's tables here.)
SELECT 1;
