"""The mutations that build and change projects (ProjectV2), with GitHub's rules and errors.

Each needs the organisation permission `organization_projects: write`; ids that the token cannot
reach are not found. `updateProjectV2Field` replaces a single select's options, clearing every
value set in the field, as GitHub does.
"""

from __future__ import annotations

from github_double import projects as boards
from github_double.graphql_errors import FieldError
from github_double.graphql_objects import (
    NOT_ACCESSIBLE,
    IssueObject,
    MutationRoot,
    find_node,
    not_found_node,
    world_actor,
)
from github_double.graphql_projects import (
    FieldObject,
    ItemObject,
    ProjectObject,
    find_project_node,
    installation_account,
    is_project_id,
    require_projects,
)
from github_double.projects import ProjectError
from github_double.world import node_id


def _unsupported(input: dict, allowed: set[str], mutation: str) -> None:
    extra = sorted(name for name, value in input.items() if name not in allowed and value is not None)
    if extra:
        raise FieldError("UNPROCESSABLE", f"The double does not support {', '.join(extra)} on {mutation}")


def _changed(action):
    try:
        return action()
    except ProjectError as error:
        raise FieldError(error.kind, error.message) from error


class ProjectMutationRoot(MutationRoot):
    def _project(self, global_id: str) -> ProjectObject:
        found = find_project_node(self.caller, global_id, "write") if is_project_id(global_id) else None
        if not isinstance(found, ProjectObject):
            raise not_found_node(global_id)
        return found

    def _item(self, project: ProjectObject, global_id: str) -> ItemObject:
        found = find_project_node(self.caller, global_id, "write") if is_project_id(global_id) else None
        if not isinstance(found, ItemObject) or found.on_project is not project.project:
            raise not_found_node(global_id)
        return found

    def _field(self, global_id: str, project: ProjectObject | None = None) -> FieldObject:
        found = find_project_node(self.caller, global_id, "write") if is_project_id(global_id) else None
        if not isinstance(found, FieldObject) or (project and found.on_project is not project.project):
            raise not_found_node(global_id)
        return found

    def _done(self, input: dict, **payload) -> dict:
        return {"clientMutationId": input.get("clientMutationId"), **payload}

    def createProjectV2(self, info, input: dict) -> dict:
        _unsupported(input, {"ownerId", "title", "clientMutationId"}, "createProjectV2")
        require_projects(self.caller, "write")
        owner = next((login for login, number in self.caller.world.user_ids.items()
                      if node_id(self.caller.world.user_type(login), number) == input["ownerId"]), None)
        if owner is None:
            raise not_found_node(input["ownerId"])
        is_org = self.caller.world.user_type(owner) == "Organization"
        if not is_org or installation_account(self.caller) != owner.lower():
            raise FieldError("FORBIDDEN", NOT_ACCESSIBLE)
        project = _changed(lambda: boards.add_project(self.caller.world, owner, input["title"],
                                                      creator=world_actor(self.caller)))
        return self._done(input, projectV2=ProjectObject(self.caller, project))

    def createProjectV2Field(self, info, input: dict) -> dict:
        _unsupported(input, {"projectId", "dataType", "name", "singleSelectOptions", "clientMutationId"},
                     "createProjectV2Field")
        project = self._project(input["projectId"])
        made = _changed(lambda: boards.add_field(self.caller.world, project.project, input["name"],
                                                 input["dataType"], input.get("singleSelectOptions")))
        return self._done(input, projectV2Field=FieldObject(self.caller, project.project, made))

    def updateProjectV2Field(self, info, input: dict) -> dict:
        _unsupported(input, {"fieldId", "name", "singleSelectOptions", "clientMutationId"},
                     "updateProjectV2Field")
        target = self._field(input["fieldId"])
        if target.field.data_type in boards.BUILT_IN_TYPES:
            raise FieldError("UNPROCESSABLE", f"The {target.field.name} field cannot be changed")
        options = input.get("singleSelectOptions")
        _changed(lambda: boards.update_field(self.caller.world, target.on_project, target.field,
                                             name=input.get("name"), options=options))
        return self._done(input, projectV2Field=target)

    def deleteProjectV2Field(self, info, input: dict) -> dict:
        target = self._field(input["fieldId"])
        _changed(lambda: boards.delete_field(self.caller.world, target.on_project, target.field))
        return self._done(input, projectV2Field=target)

    def addProjectV2ItemById(self, info, input: dict) -> dict:
        project = self._project(input["projectId"])
        content = find_node(self.caller, input["contentId"], "read")
        if not isinstance(content, IssueObject):
            raise not_found_node(input["contentId"])
        item = _changed(lambda: boards.add_item(self.caller.world, project.project, content.repo,
                                                content.issue, world_actor(self.caller)))
        return self._done(input, item=ItemObject(self.caller, project.project, item))

    def updateProjectV2ItemFieldValue(self, info, input: dict) -> dict:
        project = self._project(input["projectId"])
        item = self._item(project, input["itemId"])
        target = self._field(input["fieldId"], project)
        kind = target.field.data_type
        key = {"SINGLE_SELECT": "singleSelectOptionId", "DATE": "date", "TEXT": "text", "NUMBER": "number",
               "ITERATION": "iterationId"}.get(kind)
        if key is None:
            raise FieldError("UNPROCESSABLE", f"The field of type {kind.lower()} is currently not supported")
        value = input["value"].get(key)
        if value is None:
            wanted = {"singleSelectOptionId": "single select option Id",
                      "iterationId": "iteration Id"}.get(key, key)
            raise FieldError("UNPROCESSABLE",
                             f"Did not receive a {wanted} value to update a field of type {kind.lower()}")
        _changed(lambda: boards.set_value(self.caller.world, project.project, item.item, target.field, value,
                                          world_actor(self.caller)))
        return self._done(input, projectV2Item=item)

    def clearProjectV2ItemFieldValue(self, info, input: dict) -> dict:
        project = self._project(input["projectId"])
        item = self._item(project, input["itemId"])
        target = self._field(input["fieldId"], project)
        if target.field.data_type in boards.BUILT_IN_TYPES:
            raise FieldError("UNPROCESSABLE",
                             f"The field of type {target.field.data_type.lower()} is currently not supported")
        boards.clear_value(self.caller.world, item.item, target.field)
        return self._done(input, projectV2Item=item)

    def archiveProjectV2Item(self, info, input: dict) -> dict:
        project = self._project(input["projectId"])
        item = self._item(project, input["itemId"])
        boards.archive_item(self.caller.world, item.item)
        return self._done(input, item=item)

    def unarchiveProjectV2Item(self, info, input: dict) -> dict:
        project = self._project(input["projectId"])
        item = self._item(project, input["itemId"])
        boards.archive_item(self.caller.world, item.item, archived=False)
        return self._done(input, item=item)

    def deleteProjectV2Item(self, info, input: dict) -> dict:
        project = self._project(input["projectId"])
        item = self._item(project, input["itemId"])
        project.project.items.remove(item.item)
        return self._done(input, deletedItemId=item.id)
