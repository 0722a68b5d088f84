from .base_model import BaseModel
from .fragments import ProjectFields


class Projects(BaseModel):
    projects: list["ProjectsProjects"]


ProjectsProjects = ProjectFields
