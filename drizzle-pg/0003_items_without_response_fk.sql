ALTER TABLE "items" DROP CONSTRAINT "items_response_id_responses_id_fk";
--> statement-breakpoint
CREATE FUNCTION "items_of_deleted_responses"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM "items" WHERE "response_id" IN (SELECT "id" FROM "gone"); RETURN NULL; END $$;--> statement-breakpoint
CREATE TRIGGER "responses_delete_items" AFTER DELETE ON "responses" REFERENCING OLD TABLE AS "gone" FOR EACH STATEMENT EXECUTE FUNCTION "items_of_deleted_responses"();
