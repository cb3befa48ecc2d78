import { checkFixture } from "../testing.ts";

Deno.test("ReduceMean/ReduceSum gradient matches torch", () => checkFixture("broadcast_se"));
